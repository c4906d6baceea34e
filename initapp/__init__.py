"""initapp: a container init (PID 1) in standard-library Python."""

__version__ = "0.2.0"
