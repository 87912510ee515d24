"""Open311 GeoReport v2 routes: every resource ends in .json or .xml, which picks the format."""

from django.urls import URLPattern, re_path

from civicgrid.intake import open311

FMT = r"\.(?P<fmt>json|xml)$"

urlpatterns: list[URLPattern] = [
    re_path(r"^discovery" + FMT, open311.discovery, name="open311-discovery"),
    re_path(r"^services" + FMT, open311.service_list, name="open311-services"),
    re_path(r"^services/(?P<code>[^/]+)" + FMT, open311.service_definition, name="open311-service"),
    re_path(r"^requests" + FMT, open311.requests, name="open311-requests"),
    re_path(r"^requests/(?P<number>[^/]+)" + FMT, open311.request_detail, name="open311-request"),
    # The community's Swagger file spells the single-request path this way; clients use both.
    re_path(r"^request/(?P<number>[^/]+)" + FMT, open311.request_detail, name="open311-request-alt"),
]
