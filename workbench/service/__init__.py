"""The clean room service: the trust boundary. The only code that opens the store."""
