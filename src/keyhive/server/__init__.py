"""The HTTP service: hot routes (verify, gateway auth), admin API, health and metrics."""

from keyhive.server.app import create_app, create_app_from_env

__all__ = ["create_app", "create_app_from_env"]
