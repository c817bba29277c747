"""Google Wallet (walletobjects v1): verticals, pure class/object rendering, schema checks.

* :mod:`.verticals`: style → vertical, resource and schema names.
* :mod:`.render`: design + pass data → class and object JSON (pure).
* :mod:`.schema`: offline validation against the discovery document (pure).
"""

from passmint.wallet.google.verticals import Vertical, vertical_for

__all__ = ["Vertical", "vertical_for"]
