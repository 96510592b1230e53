"""The review dashboard served by ``agx serve`` at ``/``: review queue, sessions, submit, spend.

Server-rendered (Jinja2 templates in ``templates/``), with one small script and one stylesheet
in ``static/``; no CDN, no build step. ``pages.router`` is mounted by ``api.app.create_app``.
"""
