"""Operations: backups and data retention (metrics and logs live in nibog.core)."""
