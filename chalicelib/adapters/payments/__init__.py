"""PaymentsPort adapters: Stripe (AWS stages) and the sandbox provider (`make run`, tests).

Each module here imports the Stripe SDK, a heavy import: only `chalicelib.bootstrap` imports
them, lazily, on the first call that needs a payment provider.
"""
