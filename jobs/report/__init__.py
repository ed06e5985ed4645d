"""The weekly report: its data model, charts, rendering (HTML + text) and email delivery.

Someone fills a `WeeklyReport` (model.py) from MLflow and the audit trail; `render_report`
turns it into an email-ready `RenderedReport`; `deliver` writes it to the outbox first and
then sends it, so a report is never lost to an SMTP outage.
"""
