// Command lifeline backs up key-value data into encrypted, compressed
// backups and restores it. Run "lifeline help" for the commands.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
