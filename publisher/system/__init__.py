"""Operating the engine: logs, migrations, the embedded Redis and key rotation."""
