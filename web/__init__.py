"""The web application: sign-in, connecting X and Facebook, account pages, webhooks."""
