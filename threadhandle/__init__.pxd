from threadhandle._threadhandle cimport ThreadHandle, handled
