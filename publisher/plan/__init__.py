"""What will be published: campaigns, channels (and connecting them), posts with their
content and media, series, posting slots, and publications as the client sees them."""
