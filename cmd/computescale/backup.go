package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/computescale/computescale/client"
)

func newBackupCmd() *cobra.Command {
	var cf clientFlags
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Save a consistent copy of the live database into FILE (admin)",
		Long: `backup streams a snapshot of the server's bbolt database, taken in one read
transaction while ingest goes on, into FILE.tmp, fsyncs it and renames it to
FILE, so FILE is either the previous backup or the complete new one, never a
partial file. It prints the store revision the snapshot holds and its size.
--timeout does not apply: the stream runs until done or interrupted.

Restore: the backup is a complete database. Stop the server and start it on
the file, e.g. computescale serve --db FILE (or copy FILE to the usual --db
path first). There is no separate restore command; computescale verify then
checks the restored store.`,
		Example: `  COMPUTESCALE_TOKEN=$ADMIN computescale backup --addr 10.0.0.5:7443 /backups/computescale-$(date +%F).db
  computescale serve --db /backups/computescale-2025-06-30.db --tokens tokens.txt   # restore`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := cf.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			rev, n, err := backupTo(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backup %s: revision %d, %d bytes\n", args[0], rev, n)
			return nil
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

// backupTo writes the snapshot beside path and renames it into place only
// once it is complete and on disk, so a failed or interrupted backup never
// replaces a good one.
func backupTo(ctx context.Context, c *client.Client, path string) (rev uint64, n int64, err error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, 0, fmt.Errorf("backup: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if rev, n, err = c.Backup(ctx, f); err != nil {
		return 0, 0, err
	}
	if err = f.Sync(); err != nil {
		return 0, 0, fmt.Errorf("backup: sync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return 0, 0, fmt.Errorf("backup: close %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return 0, 0, fmt.Errorf("backup: %w", err)
	}
	// The rename is durable only once the directory entry is on disk.
	if err = syncDir(filepath.Dir(path)); err != nil {
		return 0, 0, fmt.Errorf("backup: sync directory of %s: %w", path, err)
	}
	return rev, n, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
