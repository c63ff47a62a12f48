"""A certificate's PDF as an HTTP download, the same for the API and the trainee's page."""

from django.http import FileResponse, Http404


def pdf_download(certificate) -> FileResponse:
    """The certificate's current PDF as a download (its serial as the file name); 404 when
    the file is missing. The API and the trainee's page serve it the same way."""
    if not certificate.pdf:
        raise Http404
    try:
        handle = certificate.pdf.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"{certificate.serial}.pdf",
        content_type="application/pdf",
    )
