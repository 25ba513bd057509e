"""Demo articles: a lived-in knowledge base across every category, written through the services.

Some are internal (runbooks for staff), a few pinned, one still a draft and one archived, so the
help center and the desk both have something true to show.
"""

from core.models import User

from . import services
from .models import Article, Status
from .models import Category as C

# (title, category, summary, Markdown body, tags, keywords, flags)
ARTICLES = [
    ("Reset your password", C.HOW_TO,
     "Get a new password link by e-mail and choose a new password in two minutes.",
     "1. Open the sign-in page and choose **Forgot password**.\n2. Enter the e-mail address of "
     "your account.\n3. Open the link we send you within 24 hours and choose a new password.\n\n"
     "The link works once. If it has expired, ask for a new one.",
     ["account", "password"], "forgot login locked out credentials", {"pinned": True}),
    ("The password reset link has expired", C.TROUBLESHOOTING,
     "Reset links work once and for 24 hours; here is how to get a fresh one.",
     "A reset link stops working after **24 hours** or once it has been used. Request a new "
     "link from the sign-in page; only the newest link works.\n\nIf no e-mail arrives, check "
     "your spam folder and that your address is the one on your account.",
     ["account", "password"], "expired token invalid link", {}),
    ("Turn on two-factor authentication", C.HOW_TO,
     "Protect your account with an authenticator app.",
     "Go to **Settings → Security**, choose *Two-factor authentication* and scan the code with "
     "an authenticator app. Keep the recovery codes somewhere safe.",
     ["account", "security"], "2fa mfa totp authenticator otp", {}),
    ("Export your data to CSV", C.HOW_TO,
     "Download tickets, contacts or invoices as a spreadsheet.",
     "Open the list you want, filter it, and choose **Export → CSV**. Large exports are "
     "prepared in the background and e-mailed to you as a link.\n\n| Export | Limit |\n|---|---|"
     "\n| Tickets | 1,000,000 rows |\n| Contacts | 500,000 rows |",
     ["export", "data"], "download spreadsheet excel", {}),
    ("CSV export never finishes", C.KNOWN_ISSUE,
     "Exports over 200,000 rows can stall in the background queue; a fix is rolling out.",
     "Some very large exports stay at *Preparing…*. We are rolling out a fix this week.\n\n"
     "**Workaround:** export one month at a time using the date filter.",
     ["export", "data"], "stuck spinning timeout", {"pinned": True}),
    ("Understanding your invoice", C.FAQ,
     "What each line of the monthly invoice means, and where to find the VAT number.",
     "Your invoice lists the plan, extra seats and usage. Our VAT number is printed under the "
     "total; yours appears once you add it under **Billing → Company details**.",
     ["billing", "invoice"], "vat tax receipt bill", {}),
    ("Change your payment method", C.HOW_TO,
     "Switch cards or move to invoice payment.",
     "In **Billing → Payment method** choose *Replace card*. Annual plans can also pay by bank "
     "transfer against an invoice.",
     ["billing"], "credit card bank transfer", {}),
    ("Why was my card declined?", C.TROUBLESHOOTING,
     "The most common reasons a payment fails and what to do.",
     "Cards are declined for an expired card, a limit reached, or a bank blocking a foreign "
     "payment. Ask your bank to allow payments to us, then retry in **Billing**.",
     ["billing"], "payment failed declined", {}),
    ("Refunds and cancellations", C.FAQ,
     "How to cancel, and when we refund.",
     "You can cancel any time from **Billing → Plan**. Annual plans cancelled within 14 days "
     "are refunded in full.",
     ["billing"], "cancel refund money back", {}),
    ("Connect the API with a token", C.API_DOCUMENTATION,
     "Create an API token and send it with every request.",
     "Create a token on **Account → API tokens**, then send it as `Authorization: Token <key>`."
     "\n\n```\ncurl -H \"Authorization: Token $TOKEN\" https://example.com/api/v1/auth/me/\n```",
     ["api", "integration"], "rest token authentication key", {}),
    ("API rate limits", C.API_DOCUMENTATION,
     "How many requests you may send, and what a 429 means.",
     "Each token may send 1,200 requests a minute. Over the limit you get **429 Too Many "
     "Requests** with `Retry-After`; wait that many seconds and retry.",
     ["api"], "throttle 429 too many requests", {}),
    ("Webhooks time out", C.TROUBLESHOOTING,
     "Your endpoint must answer within 10 seconds.",
     "We wait 10 seconds for your endpoint to answer. Answer `200` at once and do the work "
     "afterwards; failed deliveries are retried with backoff for a day.",
     ["api", "integration", "webhooks"], "webhook timeout retry", {}),
    ("Set up single sign-on (SAML)", C.PRODUCT_GUIDE,
     "Let your team sign in with your identity provider.",
     "In **Settings → Single sign-on** upload your IdP metadata and map the e-mail attribute. "
     "Test with one account before enforcing SSO for everyone.",
     ["account", "security", "sso"], "saml okta azure identity provider", {}),
    ("Invite your team", C.PRODUCT_GUIDE,
     "Add colleagues and choose what they may do.",
     "Open **Settings → Team** and choose *Invite*. Organisation admins see everyone's "
     "requests; members see their own.",
     ["account"], "users seats colleagues members", {}),
    ("Printer prints blank pages", C.TROUBLESHOOTING,
     "Reinstall the driver after the latest update.",
     "After the October update some printers print blank pages. Remove the printer, install the "
     "newest driver from the vendor and add it again.",
     ["hardware"], "printing empty page driver", {}),
    ("Router keeps rebooting", C.TROUBLESHOOTING,
     "Overheating or a bad firmware image are the usual causes.",
     "Give the router room to breathe and update its firmware. If it still reboots every hour, "
     "reset it to factory settings and restore your backup.",
     ["hardware", "network"], "restart reboot loop wifi", {}),
    ("Slow dashboards", C.KNOWN_ISSUE,
     "Dashboards with more than 50 widgets load slowly; we are working on it.",
     "Dashboards with many widgets can take 10 seconds to load. Split large dashboards into "
     "several until the fix ships.",
     ["performance"], "slow loading lag", {}),
    ("Keep your data secure", C.BEST_PRACTICES,
     "Five habits that keep your account safe.",
     "- Turn on two-factor authentication.\n- Give each integration its own API token.\n- "
     "Revoke tokens you no longer use.\n- Review who is on your team every quarter.\n- Never "
     "share passwords in tickets.",
     ["security"], "safety protect", {}),
    ("Write tickets we can solve fast", C.BEST_PRACTICES,
     "What to include so the first answer solves it.",
     "Say what you expected and what happened, the time it happened, and attach a screenshot. "
     "One problem per ticket.",
     ["support"], "report bug help", {}),
    ("Our support hours", C.FAQ,
     "When we answer, and how fast.",
     "We answer Monday to Friday, 09:00–17:00 Berlin time. Urgent outages are handled around "
     "the clock for Enterprise plans.",
     ["support"], "opening hours contact sla response time", {"pinned": True}),
    ("Delete your account", C.HOW_TO,
     "Close your account and have your data erased.",
     "Organisation admins can close the account under **Settings → Account**. We erase your "
     "data within 30 days; invoices are kept as the law requires.",
     ["account", "privacy"], "remove erase gdpr close", {}),
    ("Import contacts from a spreadsheet", C.HOW_TO,
     "Upload a CSV with one contact per row.",
     "Choose **Contacts → Import**, upload a CSV with an `email` column, and map the other "
     "columns. Duplicates are merged by e-mail address.",
     ["data", "import"], "upload csv excel", {}),
    ("Mobile app: notifications do not arrive", C.TROUBLESHOOTING,
     "Check the phone's notification settings and battery saver.",
     "Allow notifications for the app in your phone's settings, and exclude it from battery "
     "saving. Sign out and in again to renew the device registration.",
     ["mobile"], "push notification android ios", {}),
    ("Runbook: replay failed webhooks", C.TROUBLESHOOTING,
     "For staff: how to replay a customer's failed webhook deliveries.",
     "Find the delivery in the admin under *Outbox*, check the error, and requeue it once the "
     "customer confirms their endpoint is back. Never replay more than a day of deliveries.",
     ["api", "webhooks"], "replay requeue outbox", {"internal": True}),
    ("Runbook: verify an account owner", C.BEST_PRACTICES,
     "For staff: the checks before changing an account's owner.",
     "Ask for a reply from the current owner's address, or a signed letter from the company. "
     "Note the check in an internal note before you change anything.",
     ["security", "account"], "identity verification ownership", {"internal": True}),
    ("Escalating to engineering", C.BEST_PRACTICES,
     "For staff: when and how to escalate a ticket.",
     "Escalate when a bug is reproducible or a customer is blocked. Add the steps to reproduce "
     "and the customer's plan in an internal note first.",
     ["support"], "engineering bug escalation", {"internal": True}),
    ("Getting started", C.PRODUCT_GUIDE,
     "Your first day: set up your workspace in ten minutes.",
     "1. Invite your team.\n2. Connect your e-mail.\n3. Create your first dashboard.\n\nThen "
     "explore the guides in this knowledge base.",
     ["onboarding"], "setup first steps tutorial", {"pinned": True}),
    ("Legacy reports (retired)", C.PRODUCT_GUIDE,
     "The old reports were replaced by dashboards.",
     "Legacy reports were retired in 2025. Use dashboards instead.",
     ["reports"], "old reporting", {"status": Status.ARCHIVED}),
    ("Dark mode (coming soon)", C.PRODUCT_GUIDE,
     "A darker theme for the web app.",
     "Draft: describe the setting once it ships.",
     ["ui"], "theme night", {"status": Status.DRAFT}),
]  # fmt: skip


def seed_articles() -> None:
    if Article.objects.exists():
        return
    lead = User.objects.filter(email="lead@example.com").first()
    if lead is None:
        return
    for title, category, summary, body, tags, keywords, flags in ARTICLES:
        article = services.create_article(
            by=lead,
            title=title,
            category=category,
            summary=summary,
            content=body,
            tags=tags,
            keywords=keywords,
            is_internal=flags.get("internal", False),
            is_pinned=flags.get("pinned", False),
        )
        status = flags.get("status", Status.PUBLISHED)
        if status in (Status.PUBLISHED, Status.ARCHIVED):
            services.change_status(article=article, by=lead, to=Status.PUBLISHED)
        if status == Status.ARCHIVED:
            services.change_status(article=article, by=lead, to=Status.ARCHIVED)
    by_title = {a.title: a for a in Article.objects.all()}
    for title, related in [
        ("Reset your password", ["The password reset link has expired",
                                 "Turn on two-factor authentication"]),
        ("Export your data to CSV", ["CSV export never finishes"]),
        ("Connect the API with a token", ["API rate limits", "Webhooks time out"]),
    ]:  # fmt: skip
        services.set_related(article=by_title[title], by=lead,
                             related=[by_title[name] for name in related])  # fmt: skip
