"""Query-count helpers shared by every test (docs/testing.md, "query counts").

A page whose cost grows with its rows shows up only when it is measured at two
sizes with the same number: one row and many. `assert_flat_query_count` is the
one way the suite does that; import it from here.
"""

SMALL = 1
LARGE = 50


def assert_flat_query_count(
    django_assert_num_queries, client, url, add_rows, expected, count, *, large=LARGE
):
    """The page costs exactly `expected` queries with 1 row and with `large` rows.

    `add_rows(n)` adds n more rows; `count(response)` tells how many the page
    shows, so the test also proves the rows were there to be counted."""
    add_rows(SMALL)
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert response.status_code == 200
    assert count(response) == SMALL
    add_rows(large - SMALL)
    with django_assert_num_queries(expected):
        response = client.get(url)
    assert response.status_code == 200
    assert count(response) == large
