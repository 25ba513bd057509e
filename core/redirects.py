"""Redirect targets taken from a request go only to this site.

Every view that redirects to a URL the request names (`next`, `return_to`, a form field, the
Referer) passes it through `safe_next`; Django's own LoginView and LogoutView apply the same
rule to their `next`. A later domain does the same and never calls `redirect()` on raw input.
"""

from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request, candidate, fallback: str) -> str:
    """`candidate` if it points at this site, else `fallback`.

    Accepted: a path (`/desk/`) or an absolute URL whose host is the request's own host (as
    ALLOWED_HOSTS validated it), with https required when the request came over https.
    Refused: other hosts, scheme-relative `//evil.example`, backslash tricks (`\\\\evil.example`,
    `/\\\\evil.example`), `javascript:` and other schemes, control characters, empty values.
    """
    if not isinstance(candidate, str):
        return fallback
    candidate = candidate.strip()
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return fallback
