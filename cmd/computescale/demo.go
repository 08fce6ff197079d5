package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"

	"github.com/computescale/computescale/catalog"
	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/demodata"
	"github.com/computescale/computescale/estimator"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/proto/protoconv"
	"github.com/computescale/computescale/server"
)

// The demo's caller names; the vendor name is what its records are keyed by.
const (
	demoAdmin  = "demo-admin"
	demoReader = "demo-reader"
	demoVendor = "demo-vendor"
	demoStat   = "demo-statistician"
)

func newDemoCmd() *cobra.Command {
	var cfg serveConfig
	var once bool
	var cluster int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Serve the bundled chip catalog and synthetic demo data, and print province totals and the index",
		Long: `demo starts a server (every serve flag works here too), loads the bundled
chip catalog through PutChipSpec, the synthetic demo feed through the real
ingest stream, the synthetic statistics observations through PutObservations
and the demo methodology (five-year targets) through PutMethodology; prints
the province table for the latest period, the compute development index
ranking of the latest statistics year and the tokens it generated, and keeps
serving until interrupted (or exits with --once). Without --db it uses a
fresh database file in a temporary folder. The web dashboard is on by
default here (--http-listen 127.0.0.1:7480; "" turns it off).

With --cluster N it runs cluster mode on one machine instead: N embedded etcd
members in this process and N "computescale serve --etcd-endpoints" nodes as
child processes on --listen's port and the next ones, loads the demo through
all nodes, and prints each node's PID and address and the commands to watch
through every node while you kill one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cluster > 0 {
				return runDemoCluster(cmd.Context(), cfg, cluster, once, cmd.OutOrStdout(), cmd.ErrOrStderr())
			}
			return runDemo(cmd.Context(), cfg, once, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	cfg.register(cmd, "", "127.0.0.1:7480")
	cmd.Flags().BoolVar(&once, "once", false, "print the tables and exit instead of serving")
	cmd.Flags().IntVar(&cluster, "cluster", 0, "run N etcd members and N cluster-mode nodes on loopback (try 3) to try failover")
	return cmd
}

func runDemo(ctx context.Context, cfg serveConfig, once bool, out, errOut io.Writer) error {
	if cfg.db == "" {
		dir, err := os.MkdirTemp("", "computescale-demo-")
		if err != nil {
			return fmt.Errorf("temp dir for the demo database: %w", err)
		}
		defer os.RemoveAll(dir)
		cfg.db = filepath.Join(dir, "demo.db")
	}
	tokens, secrets, err := demoTokens(cfg.tokens)
	if err != nil {
		return err
	}
	m, err := startServer(cfg, tokens)
	if err != nil {
		return err
	}
	defer m.Close()
	if err := loadDemo(ctx, m.Addr(), secrets, errOut); err != nil {
		return err
	}
	if err := printDemo(ctx, m.Addr(), secrets[demoReader], out); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nserving on %s (database %s)\n", m.Addr(), cfg.db)
	if secrets != nil {
		fmt.Fprintf(out, "tokens (generated for this run):\n  admin         %s\n  reader        %s\n  vendor        %s  (name %s)\n  statistician  %s  (name %s)\n",
			secrets[demoAdmin], secrets[demoReader], secrets[demoVendor], demoVendor, secrets[demoStat], demoStat)
		fmt.Fprintf(out, "try: COMPUTESCALE_TOKEN=%s go run ./cmd/computescale query list --addr %s\n", secrets[demoReader], m.Addr())
		if m.webAddr != "" {
			fmt.Fprintf(out, "dashboard: http://%s/?token=%s\n", m.webAddr, secrets[demoReader])
		}
	}
	if once {
		return nil
	}
	<-ctx.Done()
	return nil
}

// demoTokens generates one token per role, unless a token file is given, in
// which case the demo cannot know the secrets and loads nothing itself.
func demoTokens(file string) (*server.Tokens, map[string]string, error) {
	if file != "" {
		t, err := server.LoadTokens(file)
		return t, nil, err
	}
	t := server.NewTokens()
	secrets := map[string]string{}
	for name, role := range map[string]server.Role{demoAdmin: server.RoleAdmin, demoReader: server.RoleReader, demoVendor: server.RoleVendor, demoStat: server.RoleStatistician} {
		b := make([]byte, 24)
		if _, err := rand.Read(b); err != nil {
			return nil, nil, fmt.Errorf("generate token: %w", err)
		}
		secrets[name] = base64.RawURLEncoding.EncodeToString(b)
		t.Add(secrets[name], server.Identity{Name: name, Role: role})
	}
	return t, secrets, nil
}

func loadDemo(ctx context.Context, addr string, secrets map[string]string, progress io.Writer) error {
	if secrets == nil {
		return fmt.Errorf("demo with --tokens: load the catalog and feed yourself (computescale ingest)")
	}
	if err := loadCatalogOnly(ctx, addr, secrets[demoAdmin]); err != nil {
		return err
	}
	vendor, err := client.New(addr, client.WithToken(secrets[demoVendor]))
	if err != nil {
		return err
	}
	defer vendor.Close()
	recs := demodata.Shipments()
	msgs := make([]*pb.ShipmentRecord, len(recs))
	for i, r := range recs {
		msgs[i] = protoconv.RecordToProto(r)
	}
	bar := newProgress(progress, len(msgs), "demo feed")
	sum, err := vendor.IngestShipments(ctx, msgs, client.IngestOptions{OnAck: func(b client.BatchResult) { bar.Add(b.Len) }})
	bar.Finish()
	if err != nil {
		return fmt.Errorf("load demo feed: %w", err)
	}
	if len(sum.Rejected) > 0 {
		return fmt.Errorf("load demo feed: batch %d rejected: %w", sum.Rejected[0].Index, sum.Rejected[0].Err)
	}
	return loadIndexInputs(ctx, addr, secrets[demoStat], secrets[demoAdmin], progress)
}

// loadIndexInputs puts the demo's statistics observations as the
// statistician (statistics are the statistician's to write, as in
// production) and the methodology as the admin. The methodology is put only when the current one differs, so
// that loading twice leaves the version (and the printed tables) unchanged.
func loadIndexInputs(ctx context.Context, addr, statToken, adminToken string, progress io.Writer) error {
	admin, err := client.New(addr, client.WithToken(adminToken))
	if err != nil {
		return err
	}
	defer admin.Close()
	stat, err := client.New(addr, client.WithToken(statToken))
	if err != nil {
		return err
	}
	defer stat.Close()
	obs := demodata.Observations()
	msgs := make([]*pb.Observation, len(obs))
	for i, o := range obs {
		msgs[i] = protoconv.ObservationToProto(o)
	}
	bar := newProgress(progress, len(msgs), "demo statistics")
	sum, err := stat.PutObservations(ctx, msgs, client.IngestOptions{OnAck: func(b client.BatchResult) { bar.Add(b.Len) }})
	bar.Finish()
	if err != nil {
		return fmt.Errorf("load demo statistics: %w", err)
	}
	if len(sum.Rejected) > 0 {
		return fmt.Errorf("load demo statistics: batch %d rejected: %w", sum.Rejected[0].Index, sum.Rejected[0].Err)
	}
	want := protoconv.MethodologyToProto(demodata.Methodology(), nil)
	cur, err := admin.Methodology(ctx, 0)
	if err != nil {
		return fmt.Errorf("load demo methodology: %w", err)
	}
	if sameMethodology(cur, want) {
		return nil
	}
	if _, err := admin.PutMethodology(ctx, want, false); err != nil {
		return fmt.Errorf("load demo methodology: %w", err)
	}
	return nil
}

// sameMethodology compares two methodologies without their output-only
// fields.
func sameMethodology(a, b *pb.Methodology) bool {
	strip := func(m *pb.Methodology) *pb.Methodology {
		m = proto.CloneOf(m)
		m.Version, m.CreateTime, m.Indicators, m.LeafWeights = 0, nil, nil, nil
		return m
	}
	return proto.Equal(strip(a), strip(b))
}

// demoIndexYear is the latest year of the demo statistics, which the demo
// ranks.
func demoIndexYear() int {
	year := 0
	for _, o := range demodata.Observations() {
		year = max(year, o.Year)
	}
	return year
}

// loadCatalogOnly puts every bundled chip spec through PutChipSpec; specs
// already stored unchanged are no-ops.
func loadCatalogOnly(ctx context.Context, addr, adminToken string) error {
	admin, err := client.New(addr, client.WithToken(adminToken))
	if err != nil {
		return err
	}
	defer admin.Close()
	for _, spec := range catalog.Chips() {
		if _, err := admin.PutChipSpec(ctx, protoconv.ChipToProto(spec)); err != nil {
			return fmt.Errorf("load catalog: %w", err)
		}
	}
	return nil
}

// latestPeriod is the newest period in the demo feed, which the demo reports.
func latestPeriod(recs []estimator.Record) estimator.Period {
	var last estimator.Period
	for _, r := range recs {
		if last.Before(r.Period) || last == (estimator.Period{}) {
			last = r.Period
		}
	}
	return last
}

func printDemo(ctx context.Context, addr, token string, out io.Writer) error {
	c, err := client.New(addr, client.WithToken(token))
	if err != nil {
		return err
	}
	defer c.Close()
	end := latestPeriod(demodata.Shipments())
	rows, err := c.ListProvinceCompute(ctx, end.Year, end.Quarter, "")
	if err != nil {
		return err
	}
	nat, err := c.NationalCompute(ctx, end.Year, end.Quarter)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Compute scale by province as of %s (synthetic demo data)\n\n", end)
	if err := totalsView(nil, rows, nat).write(out, outTable); err != nil {
		return err
	}
	year := demoIndexYear()
	scores, err := c.ListIndex(ctx, year, "", 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nCompute development index %d (先进计算暨算力发展指数; synthetic demo data shaped after the blue book, not CAICT's scores)\n\n", year)
	return indexView(nil, scores, "").write(out, outTable)
}
