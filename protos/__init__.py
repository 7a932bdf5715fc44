"""Protocol sources (.proto) and the modules generated from them; never edit the *_pb2 files."""
