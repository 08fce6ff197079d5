package main

import (
	"io"
	"os"
	"strings"
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
six-year window, answered over gRPC.

Read commands print a table, or -o json (the API's protobuf JSON) or -o csv.

Environment: every flag can be set as COMPUTESCALE_ and its name in
capitals, '-' as '_' (flags on the command line win, then the environment,
then --config). The client commands' connection flags:
  COMPUTESCALE_ADDR          server address host:port (--addr)
  COMPUTESCALE_TOKEN         bearer token (--token)
  COMPUTESCALE_TIMEOUT       deadline of each call (--timeout)
  COMPUTESCALE_DIAL_TIMEOUT  time to connect and handshake (--dial-timeout)
  COMPUTESCALE_TLS, COMPUTESCALE_TLS_CA, COMPUTESCALE_TLS_CERT,
  COMPUTESCALE_TLS_KEY, COMPUTESCALE_TLS_SERVER_NAME   TLS (--tls-*)`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// Flags left unset on the command line come from the environment,
		// then from --config (config.go).
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return applyConfig(cmd, os.LookupEnv) },
	}
	root.PersistentFlags().String("config", "", "JSON file of flag values (keys are flag names); flags and COMPUTESCALE_* variables win over it")
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newServeCmd(), newDemoCmd(), newIngestCmd(), newQueryCmd())
	root.AddCommand(newIndexCmd(), newUncertaintyCmd())
	root.AddCommand(newAHPCmd())
	root.AddCommand(newMethodologyCmd())
	root.AddCommand(newBackupCmd(), newVerifyCmd())
	root.AddCommand(newWatchCmd())
	root.AddCommand(newReportCmd())
	root.AddCommand(newVersionCmd(), newRetractCmd(), newCompactCmd(), newChipsCmd())
	return root
}

// clientFlags are the connection flags of every command that talks to a server.
type clientFlags struct {
	addr        string
	endpoints   []string // cluster mode: several nodes, instead of --addr
	token       string
	timeout     time.Duration
	dialTimeout time.Duration

	tls                    bool
	tlsCA, tlsCert, tlsKey string
	tlsServerName          string
}

// defaultDialTimeout bounds connecting; a refused connection or a failed
// TLS handshake is reported at once, so it matters only for an address that
// does not answer at all.
const defaultDialTimeout = 5 * time.Second

// register adds the connection flags; each usage names its environment
// variable (COMPUTESCALE_ and the flag name, see applyConfig), so that
// --help lists them.
func (f *clientFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.addr, "addr", "127.0.0.1:7443", "server address host:port")
	fs.StringSliceVar(&f.endpoints, "endpoints", nil, "cluster mode: several nodes host:port,host:port,... (round robin, failing over to the nodes that are up); overrides --addr")
	fs.StringVar(&f.token, "token", "", "bearer token")
	fs.DurationVar(&f.timeout, "timeout", client.DefaultTimeout, "deadline of each call, once connected")
	fs.DurationVar(&f.dialTimeout, "dial-timeout", defaultDialTimeout, "time to connect (and handshake TLS) before giving up; 0 connects lazily within --timeout")
	fs.BoolVar(&f.tls, "tls", false, "connect with TLS (implied by the other --tls-* flags); plaintext otherwise")
	fs.StringVar(&f.tlsCA, "tls-ca", "", "CA bundle (PEM) to verify the server with (default: system roots)")
	fs.StringVar(&f.tlsCert, "tls-cert", "", "client certificate (PEM) for mTLS")
	fs.StringVar(&f.tlsKey, "tls-key", "", "client key (PEM) for mTLS")
	fs.StringVar(&f.tlsServerName, "tls-server-name", "", "name to verify in the server's certificate (default: the host of --addr)")
	for _, name := range []string{"addr", "endpoints", "token", "timeout", "dial-timeout", "tls", "tls-ca", "tls-cert", "tls-key", "tls-server-name"} {
		fl := fs.Lookup(name)
		fl.Usage += " [$" + envName(name) + "]"
	}
}

func (f *clientFlags) dial() (*client.Client, error) {
	opts := []client.Option{client.WithToken(f.token), client.WithTimeout(f.timeout), client.WithDialTimeout(f.dialTimeout)}
	if f.tls || f.tlsCA != "" || f.tlsCert != "" || f.tlsKey != "" || f.tlsServerName != "" {
		cfg, err := clientTLS(f.tlsCA, f.tlsCert, f.tlsKey, f.tlsServerName)
		if err != nil {
			return nil, err
		}
		opts = append(opts, client.WithTLS(cfg))
	}
	addr := f.addr
	if len(f.endpoints) > 0 {
		addr = strings.Join(f.endpoints, ",")
	}
	return client.New(addr, opts...)
}
