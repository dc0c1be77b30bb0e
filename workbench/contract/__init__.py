"""The privacy contract between the parties of a room: proposals and consent, hash chains, verification."""
