"""Citizens' identity: real-name sign-up, identity documents, one-time phone codes and the
verification of who a person is."""
