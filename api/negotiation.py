"""Content negotiation that answers an unknown `?format=` with a 400 naming the formats."""

from django.utils.translation import gettext
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    def filter_renderers(self, renderers, format):
        kept = [renderer for renderer in renderers if renderer.format == format]
        if not kept:
            # DRF answers a 404, as if the resource did not exist.
            formats = ", ".join(renderer.format for renderer in renderers)
            raise exceptions.ValidationError(
                {
                    self.settings.URL_FORMAT_OVERRIDE: [
                        gettext("Expected one of: %(choices)s.") % {"choices": formats}
                    ]
                }
            )
        return kept
