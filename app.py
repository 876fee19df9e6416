"""Spaces: the Chalice app. Routes live in chalicelib/api, jobs in chalicelib/jobs; no logic here."""
from chalice import Chalice

from chalicelib.api import (
    analytics, events, local_routes, moderation, people, pinned, recording, reminders, share, spaces, stage,
    tickets, users, web,
)
from chalicelib.api.middleware import http_middleware
from chalicelib.jobs import chat as chat_jobs
from chalicelib.jobs import counts as count_jobs
from chalicelib.jobs import reminders as reminder_jobs
from chalicelib.jobs import scheduled as scheduled_jobs
from chalicelib.jobs import tickets as ticket_jobs

app = Chalice(app_name="spaces")
# AWS stages: the web page on CloudFront calls the API cross-origin. Set before any route.
if (cors := web.cors_for_web_client()) is not None:
    app.api.cors = cors


@app.route("/health", methods=["GET"])
def health():
    return {"status": "ok"}


app.register_middleware(http_middleware, "http")
app.register_blueprint(users.bp)
app.register_blueprint(spaces.bp)
app.register_blueprint(stage.bp)
app.register_blueprint(reminders.bp)
app.register_blueprint(tickets.bp)
app.register_blueprint(events.bp)
app.register_blueprint(recording.bp)
app.register_blueprint(share.bp)
app.register_blueprint(moderation.bp)
app.register_blueprint(analytics.bp)
app.register_blueprint(people.bp)
app.register_blueprint(pinned.bp)
app.register_blueprint(scheduled_jobs.bp)
app.register_blueprint(reminder_jobs.bp)
app.register_blueprint(ticket_jobs.bp)
app.register_blueprint(chat_jobs.bp)
app.register_blueprint(count_jobs.bp)
# The web client's page and local sign-in exist in the local stage only (chalicelib/api/web.py),
# and there an unknown path answers the contract's 404 (chalicelib/api/local_routes.py).
if web.serves_web_client():
    app.register_blueprint(web.bp)
    local_routes.install(app)
