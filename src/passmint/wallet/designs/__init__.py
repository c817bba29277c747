"""Platform-neutral pass template designs.

* :mod:`.schemas`: the design (``TemplateDesign``), public as the ``design`` of templates.
* :mod:`.placeholders`: the tiny, safe ``{{ name }}`` language of its texts.
* :mod:`.render_apple`: design + pass data → pass.json and bundle files (pure).
"""

from passmint.wallet.designs.placeholders import PlaceholderError
from passmint.wallet.designs.schemas import DesignError, TemplateDesign, parse_design

__all__ = ["DesignError", "PlaceholderError", "TemplateDesign", "parse_design"]
