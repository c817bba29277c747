"""The pass designer's server side: live previews of a design, the placeholders a design
can use with sample values, and designs started from the gallery's starters.

The public functions are those of :mod:`.service`, re-exported here; ``POST
/api/v1/previews`` is in :mod:`.endpoints`."""

from passmint.passes.previews.service import (
    PlaceholderOption,
    Restyling,
    StartedDesign,
    StarterNotFound,
    available_placeholders,
    copy_template,
    create_from_starter,
    gallery,
    preview,
    qr_svg,
    restyle_template,
    start_from_starter,
)
from passmint.wallet.designs.gallery import ProgramKind, Starter
from passmint.wallet.designs.preview import BarcodePreview, Preview, PreviewProblem, ProblemSource

__all__ = [
    "BarcodePreview",
    "PlaceholderOption",
    "Preview",
    "PreviewProblem",
    "ProblemSource",
    "ProgramKind",
    "Restyling",
    "StartedDesign",
    "Starter",
    "StarterNotFound",
    "available_placeholders",
    "copy_template",
    "create_from_starter",
    "gallery",
    "preview",
    "qr_svg",
    "restyle_template",
    "start_from_starter",
]
