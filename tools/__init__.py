"""Pack maintenance: run notebooks headless (demo, reproduce), write build/REPORT.md."""
