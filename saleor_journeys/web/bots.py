"""Crawlers, bots and link-preview fetchers, by user agent.

Search engines render storefront pages with JavaScript and would send page views; their visits
are nobody's journey. Headless browsers are not dropped: ``HeadlessChrome`` is what a shop's
automated storefront tests drive, and it names no crawler.
"""

from __future__ import annotations

import re

# Case-insensitive markers of well-known crawlers, bots, uptime checkers and link previewers.
# ``bot`` is a word part of most crawler names (Googlebot, bingbot, GPTBot, Slackbot …); the
# lookbehind spares "CUBOT", a phone brand whose Android user agents name the model.
_MARKERS = re.compile(
    r"(?<!cu)bot(?:\b|_)|crawl|spider|slurp|archiver|scrapy"
    r"|facebookexternalhit|facebookcatalog|meta-externalagent|embedly|preview"
    r"|mediapartners-google|apis-google|feedfetcher|google-read-aloud|google-inspectiontool"
    r"|google-pagerenderer|googleother|lighthouse|pagespeed|gtmetrix|pingdom|uptimerobot"
    r"|statuscake|site24x7|newrelicpinger|datadogsynthetics|w3c_validator|validator\.nu"
    r"|slack-imgproxy|vkshare|qwantify|petalsearch",
    re.IGNORECASE,
)


def is_bot(user_agent: str) -> bool:
    """True for an empty user agent or one of a known crawler, bot or preview fetcher."""
    user_agent = user_agent.strip()
    return not user_agent or _MARKERS.search(user_agent) is not None
