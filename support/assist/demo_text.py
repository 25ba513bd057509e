"""Ticket text for the demo that a model can learn, but not perfectly: each category has its own
vocabulary, shared words blur the edges, one ticket in eight reads like another category (the
customer picked the wrong one), and urgency words lean towards, not decide, the priority."""

VOCABULARY = {
    "technical": [
        "the app crashes",
        "error message on screen",
        "stack trace",
        "after the update",
        "blank screen",
        "it freezes",
        "reinstalled it",
    ],
    "billing": [
        "invoice",
        "charged",
        "VAT number",
        "billing address",
        "annual plan",
        "subscription renewal",
        "credit note",
    ],
    "account": [
        "password",
        "login",
        "two-factor code",
        "admin rights",
        "account owner",
        "locked out",
        "username",
    ],
    "data": [
        "records missing",
        "import file",
        "duplicate contacts",
        "data looks wrong",
        "rows were deleted",
        "CSV columns",
    ],
    "integration": [
        "webhook",
        "API key",
        "Salesforce sync",
        "OAuth token",
        "401 from the API",
        "Zapier",
    ],
    "performance": [
        "very slow",
        "takes minutes to load",
        "timeouts",
        "the page hangs",
        "slow search",
        "latency",
    ],
    "security": [
        "suspicious login",
        "SOC 2 report",
        "phishing e-mail",
        "someone else logged in",
        "audit log",
        "security review",
    ],
    "feature-request": [
        "would be great if",
        "please add",
        "feature idea",
        "dark mode",
        "on your roadmap",
        "bulk edit",
    ],
    "bug-report": [
        "wrong month in the date picker",
        "typo",
        "button does nothing",
        "layout broken",
        "shows the wrong value",
        "reproducible bug",
    ],
    "booking": [
        "technician",
        "appointment",
        "reschedule",
        "did not show up",
        "visit window",
        "booking reference",
    ],
    "payment": [
        "card declined",
        "refund",
        "money taken",
        "payment failed",
        "bank transfer",
        "chargeback",
    ],
    "complaint": [
        "unacceptable",
        "very disappointed",
        "third time asking",
        "poor service",
        "want to speak to a manager",
        "nobody answers",
    ],
    "general": [
        "quick question",
        "where can I find",
        "training session",
        "documentation",
        "opening hours",
        "how does it work",
    ],
}
SHARED = [
    "the dashboard",
    "our team",
    "since Monday",
    "in the app",
    "on the website",
    "our account",
    "the export",
    "the report",
]
URGENCY = {
    "urgent": ["production is down", "all our users are blocked", "urgent", "right now"],
    "high": ["blocking our work", "as soon as possible", "customers are affected"],
    "medium": ["could you look into it", "when you can"],
    "low": ["no rush", "whenever you have time", "just curious", "low priority for us"],
}


def learnable_text(rng, slug: str, priority: str) -> tuple[str | None, str]:
    """(another category's subject or None, a sentence) for a demo ticket of `slug`."""
    from support.demo import SUBJECTS

    source = slug
    subject = None
    if rng.random() < 0.125:  # reads like another category: label noise
        source = rng.choice(sorted(VOCABULARY))
        subject = rng.choice(SUBJECTS[source])
    words = rng.sample(VOCABULARY.get(source, VOCABULARY["general"]), 2)
    words.append(rng.choice(SHARED))
    if rng.random() < 0.3:  # vocabulary overlap with a neighbour
        words.append(rng.choice(VOCABULARY[rng.choice(sorted(VOCABULARY))]))
    level = priority if rng.random() < 0.6 else rng.choice(sorted(URGENCY))
    words.append(rng.choice(URGENCY[level]))
    rng.shuffle(words)
    return subject, "About " + ", ".join(words) + "."
