"""Apple Wallet: the pure pass engine (model, validation, images, strings, signing,
bundle, reader, certificates, dev PKI)."""
