//go:build !linux

package main

import "os"

// inMemory cannot tell a memory file system here: plaintext needs
// --allow-disk.
func inMemory(string) bool { return false }

// alive assumes the process exists: a stale directory is then left alone
// rather than removed from under a running edit.
func alive(int) bool { return true }

// ownedByUs cannot tell here: nothing is removed.
func ownedByUs(os.FileInfo) bool { return false }
