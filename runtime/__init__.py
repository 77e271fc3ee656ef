"""The composition root's parts shared by the CLI, the worker and the web app: the App
(settings, database, rules, clock, token keys), logging, and settings -> token keys."""
