"""The hosting console in a browser, served by the controller at `/console/`: each school's
responsable (Accueil, Serveur PRONOTE, Clients, PRONOTE.net, Mes archives, Mon compte) and
the data-center's operator (fleet, orders, outbox, clock). Every page goes through the console
gRPC API with the session's token, like the CLI. See docs/console-web.md."""

from datacenter.adapters.console_web.app import console_web_app

__all__ = ["console_web_app"]
