"""What the dashboard's and the needs register's views share."""

from django.shortcuts import render

from core.dates import BadFiscalYear


def bad_year_page(request, error: BadFiscalYear):
    """The 400 page for a ?fy= that core.dates.parse_fiscal_year refused,
    with its Japanese message."""
    return render(request, "committee/bad_year.html", {"message": str(error)}, status=400)
