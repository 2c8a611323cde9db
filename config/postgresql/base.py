"""Django's PostgreSQL backend, with a health check that asks the socket before the server.

``CONN_HEALTH_CHECKS`` makes Django run ``SELECT 1`` before the first query of every
request on a reused connection: a round trip to PostgreSQL per request, ~10% of a web
worker's samples on a single SDK call (py-spy, bench/sdk.py). A connection the server
ended (a restart, an administrator, an idle timeout) has something to read: PostgreSQL
sends its closing message and the end of the stream, so the socket polls readable. An
idle connection that is alive has nothing to say (Clarion uses no LISTEN). So: a socket
with nothing to read is usable without asking; one with something to read gets Django's
``SELECT 1``, as before. A connection whose network path died silently is not caught by
either check before its first query (``SELECT 1`` too would wait for TCP to give up).
"""

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self):
        connection = self.connection
        if connection is None or connection.closed:
            return False
        poll = select.poll()
        poll.register(connection.fileno(), select.POLLIN)
        return not poll.poll(0) or super().is_usable()
