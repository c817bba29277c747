"""Google Wallet, the service side: credentials, the REST client, sync jobs, callbacks
endpoint. The pure renderers are in :mod:`passmint.wallet.google`."""
