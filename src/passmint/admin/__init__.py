"""The admin app at ``/admin``: server-rendered pages (Jinja2 and HTMX) for the business's
staff. A transport layer: it calls the domains' services, never the JSON API over HTTP and
never SQL."""
