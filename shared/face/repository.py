"""DynamoDB data access of the face capability: none yet. Challenges (single use, expiry in the condition),
encrypted enrolments and recent-attempt embeddings arrive with the real-name flow (issue 11, HTTP part)."""
