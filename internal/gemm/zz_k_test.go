package gemm
import ("testing")
func BenchmarkKernelOnly(b *testing.B){ kc:=256; a:=make([]float32,kc*MR); bb:=make([]float32,kc*NR); c:=make([]float32,MR*NR)
 for i:=0;i<b.N;i++{ microKernel(kc,a,bb,c,NR,1,MR,NR)}
 b.ReportMetric(float64(2*MR*NR*kc)*float64(b.N)/b.Elapsed().Seconds()/1e9,"GFLOP/s")}
