package main

import (
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/computescale/computescale/client"
)

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "computescale",
		Short: "Compute scale (EFlops) and compute development index per Chinese province, live over gRPC",
		Long: `computescale estimates compute scale per Chinese province the way CAICT's
blue book does: vendors stream shipments of servers with their chips, and the
service keeps FP32 basic, FP16 AI and FP64 supercomputing totals over the
six-year window, answered over gRPC.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServeCmd(), newDemoCmd(), newIngestCmd(), newQueryCmd())
	return root
}

// clientFlags are the connection flags of every command that talks to a server.
type clientFlags struct {
	addr    string
	token   string
	timeout time.Duration
}

func (f *clientFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.addr, "addr", "127.0.0.1:7443", "server address host:port")
	fs.StringVar(&f.token, "token", "", "bearer token (default $COMPUTESCALE_TOKEN)")
	fs.DurationVar(&f.timeout, "timeout", client.DefaultTimeout, "deadline of each unary call")
}

func (f *clientFlags) dial() (*client.Client, error) {
	token := f.token
	if token == "" {
		token = os.Getenv("COMPUTESCALE_TOKEN")
	}
	return client.New(f.addr, client.WithToken(token), client.WithTimeout(f.timeout))
}
