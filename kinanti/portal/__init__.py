"""The Kinanti portal: server-rendered pages where units, reviewers and Brida sign in.

``create_app()`` builds the FastAPI app (stateless: sessions are signed cookies, throttling
and audit live in the database), so several replicas can run behind a load balancer.
"""

from kinanti.portal.app import create_app

__all__ = ["create_app"]
