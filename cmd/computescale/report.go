package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	"github.com/computescale/computescale/client"
	pb "github.com/computescale/computescale/proto/computescale/v1"
	"github.com/computescale/computescale/web"
)

func newReportCmd() *cobra.Command {
	var cf clientFlags
	var year int
	var out string
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Write the dashboard's charts for a year as SVG files and an offline index.html",
		Long: `report reads a year's index rankings, the national compute trend and the index
against GDP from a server (any role's token) and writes, into --out:

  ranking-composite.svg   the composite index ranking (blue book figure 10)
  ranking-scale.svg ...   one ranking per sub-index: scale, industry, tech, env, app (figures 11-15)
  trend.svg               compute scale by kind with growth rates, 2019 to the latest data (figures 4-5)
  relationship.svg        the index against GDP with the least-squares line (figure 16)
  index.html              all of them on one page that needs no network

The charts are drawn by the same code as the dashboard's (package web).`,
		Example: "  computescale report --year 2024 --out report/ --addr 127.0.0.1:7443 --token $READER_TOKEN",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := cf.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			rep, err := web.LoadReport(cmd.Context(), clientSource{c: c, timeout: cf.timeout}, year, time.Now())
			if err != nil {
				return err
			}
			files, err := rep.Write(out)
			if err != nil {
				return err
			}
			for _, f := range files {
				fmt.Fprintln(cmd.OutOrStdout(), filepath.Join(out, f))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "index year %d, store revision %d, methodology v%d\n", rep.Year, rep.Revision, rep.Methodology)
			return nil
		},
	}
	cf.register(cmd.Flags())
	cmd.Flags().IntVar(&year, "year", 0, "the index year (default: the latest year with scores)")
	cmd.Flags().StringVar(&out, "out", "report", "directory to write into (created if missing)")
	return cmd
}

// clientSource gives package web the server's read RPCs over a client
// connection, each with the client's deadline, so that the report loads its
// data exactly as the dashboard does in-process.
type clientSource struct {
	c       *client.Client
	timeout time.Duration
}

// call runs one RPC with the deadline.
func call[Req, Resp any](ctx context.Context, timeout time.Duration, rpc func(context.Context, Req, ...grpc.CallOption) (Resp, error), req Req) (Resp, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return rpc(ctx, req)
}

func (s clientSource) GetProvinceCompute(ctx context.Context, req *pb.GetProvinceComputeRequest) (*pb.GetProvinceComputeResponse, error) {
	return call(ctx, s.timeout, s.c.Compute.GetProvinceCompute, req)
}

func (s clientSource) GetNationalCompute(ctx context.Context, req *pb.GetNationalComputeRequest) (*pb.GetNationalComputeResponse, error) {
	return call(ctx, s.timeout, s.c.Compute.GetNationalCompute, req)
}

func (s clientSource) GetIndex(ctx context.Context, req *pb.GetIndexRequest) (*pb.GetIndexResponse, error) {
	return call(ctx, s.timeout, s.c.IndexService().GetIndex, req)
}

func (s clientSource) ListIndex(ctx context.Context, req *pb.ListIndexRequest) (*pb.ListIndexResponse, error) {
	return call(ctx, s.timeout, s.c.IndexService().ListIndex, req)
}

func (s clientSource) GetMethodology(ctx context.Context, req *pb.GetMethodologyRequest) (*pb.GetMethodologyResponse, error) {
	return call(ctx, s.timeout, s.c.IndexService().GetMethodology, req)
}

func (s clientSource) AnalyzeRelationship(ctx context.Context, req *pb.AnalyzeRelationshipRequest) (*pb.AnalyzeRelationshipResponse, error) {
	return call(ctx, s.timeout, s.c.IndexService().AnalyzeRelationship, req)
}

func (s clientSource) ListRankUncertainty(ctx context.Context, req *pb.ListRankUncertaintyRequest) (*pb.ListRankUncertaintyResponse, error) {
	return call(ctx, s.timeout, s.c.IndexService().ListRankUncertainty, req)
}

var _ web.Source = clientSource{}
