"""Messages that leave Homeward: the transactional outbox, its channels and its worker."""
