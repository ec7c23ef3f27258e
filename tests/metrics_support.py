"""Reading /metrics the way a Prometheus scraper does (text exposition, parsed)."""

from prometheus_client.parser import text_string_to_metric_families

METRICS_TOKEN = "metrics-token-0123456789abcdef0123456789"


def scrape(client, token: str = METRICS_TOKEN) -> str:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/plain")
    return response.content.decode()


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of the samples with these labels (0 when absent, like an untouched counter)."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                total += found.value
    return total
