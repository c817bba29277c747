"""The pure pass engines, usable as a library: no database, settings, network, clock or
randomness (``now``, serials and tokens are passed in).

* :mod:`.apple`: pass.json model and validation, images, strings, signing, bundles, the
  reader and verifier, certificates and the dev PKI.
* :mod:`.google`: Google Wallet classes and objects, schema checks, save links, callback
  verification.
* :mod:`.designs`: the platform-neutral design schema, placeholders, rendering to Apple.
"""
