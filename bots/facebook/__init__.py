"""Facebook: everything this service knows about one network lives in this folder."""
