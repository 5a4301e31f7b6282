"""The plan wing's views: channels, campaigns, posts, media, publications."""
