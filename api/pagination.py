from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_paginated_response_schema(self, schema):
        # OpenAPI 3.1 spells "may be null" as a type list; DRF writes 3.0's `nullable`.
        link = {"type": ["string", "null"], "format": "uri"}
        return {
            "type": "object",
            "required": ["count", "results"],
            "properties": {
                "count": {"type": "integer", "example": 123},
                "next": {**link, "example": "https://tracker.example/api/v1/cohorts/?page=2"},
                "previous": link,
                "results": schema,
            },
        }
