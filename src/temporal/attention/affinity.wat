;; Cosine affinities of the local attention read (see types.ts), with WebAssembly SIMD: the
;; inner loop of the fused kernel (fusedKernel.ts) that JavaScript runs as scalar doubles.
;; Assembled by `npm run build:wasm` (scripts/build-wasm.mjs, wabt) into affinityWasm.ts; a unit
;; test checks that the committed bytes are this source's.
;;
;; affinities(q, k, active, out, h, w, c, n, r) -> number of affinities written
;;   q       byte offset of the queries, [h·w, c] f32 (unit length)
;;   k       byte offset of the keys, [n, h·w, c] f32 (unit length)
;;   active  byte offset of one byte per query cell (0 = skip the cell)
;;   out     byte offset of the output, f32
;;   c       channels, a multiple of 4
;; For every active cell (row-major), every memory frame f < n, every window row yy and column
;; xx within ±r cells and inside the grid, in that order (the kernel's candidate order):
;;   out[j++] = Σ_i q[cell, i] · k[f, yy, xx, i]   (four lanes, summed (l0 + l1) + (l2 + l3))
(module
  (memory (export "memory") 1)
  (func (export "affinities")
    (param $q i32) (param $k i32) (param $active i32) (param $out i32)
    (param $h i32) (param $w i32) (param $c i32) (param $n i32) (param $r i32)
    (result i32)
    (local $P i32) (local $vb i32) (local $y i32) (local $x i32) (local $f i32)
    (local $yy i32) (local $xx i32) (local $y0 i32) (local $y1 i32) (local $x0 i32) (local $x1 i32)
    (local $qp i32) (local $kp i32) (local $i i32) (local $acc v128) (local $o i32)
    (local.set $P (i32.mul (local.get $h) (local.get $w)))
    (local.set $vb (i32.shl (local.get $c) (i32.const 2)))
    (local.set $o (local.get $out))
    (local.set $y (i32.const 0))
    (block $yend
      (loop $yloop
        (br_if $yend (i32.ge_s (local.get $y) (local.get $h)))
        (local.set $y0 (select (i32.sub (local.get $y) (local.get $r)) (i32.const 0)
          (i32.gt_s (i32.sub (local.get $y) (local.get $r)) (i32.const 0))))
        (local.set $y1 (select (i32.add (local.get $y) (local.get $r)) (i32.sub (local.get $h) (i32.const 1))
          (i32.lt_s (i32.add (local.get $y) (local.get $r)) (i32.sub (local.get $h) (i32.const 1)))))
        (local.set $x (i32.const 0))
        (block $xend
          (loop $xloop
            (br_if $xend (i32.ge_s (local.get $x) (local.get $w)))
            (if (i32.load8_u (i32.add (local.get $active) (i32.add (i32.mul (local.get $y) (local.get $w)) (local.get $x))))
              (then
                (local.set $x0 (select (i32.sub (local.get $x) (local.get $r)) (i32.const 0)
                  (i32.gt_s (i32.sub (local.get $x) (local.get $r)) (i32.const 0))))
                (local.set $x1 (select (i32.add (local.get $x) (local.get $r)) (i32.sub (local.get $w) (i32.const 1))
                  (i32.lt_s (i32.add (local.get $x) (local.get $r)) (i32.sub (local.get $w) (i32.const 1)))))
                (local.set $qp (i32.add (local.get $q)
                  (i32.mul (i32.add (i32.mul (local.get $y) (local.get $w)) (local.get $x)) (local.get $vb))))
                (local.set $f (i32.const 0))
                (block $fend
                  (loop $floop
                    (br_if $fend (i32.ge_s (local.get $f) (local.get $n)))
                    (local.set $yy (local.get $y0))
                    (block $yyend
                      (loop $yyloop
                        (br_if $yyend (i32.gt_s (local.get $yy) (local.get $y1)))
                        (local.set $xx (local.get $x0))
                        (block $xxend
                          (loop $xxloop
                            (br_if $xxend (i32.gt_s (local.get $xx) (local.get $x1)))
                            (local.set $kp (i32.add (local.get $k)
                              (i32.mul
                                (i32.add (i32.mul (local.get $f) (local.get $P))
                                  (i32.add (i32.mul (local.get $yy) (local.get $w)) (local.get $xx)))
                                (local.get $vb))))
                            (local.set $acc (f32x4.splat (f32.const 0)))
                            (local.set $i (i32.const 0))
                            (block $iend
                              (loop $iloop
                                (br_if $iend (i32.ge_s (local.get $i) (local.get $vb)))
                                (local.set $acc (f32x4.add (local.get $acc)
                                  (f32x4.mul
                                    (v128.load (i32.add (local.get $qp) (local.get $i)))
                                    (v128.load (i32.add (local.get $kp) (local.get $i))))))
                                (local.set $i (i32.add (local.get $i) (i32.const 16)))
                                (br $iloop)))
                            (f32.store (local.get $o)
                              (f32.add
                                (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
                                (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
                            (local.set $o (i32.add (local.get $o) (i32.const 4)))
                            (local.set $xx (i32.add (local.get $xx) (i32.const 1)))
                            (br $xxloop)))
                        (local.set $yy (i32.add (local.get $yy) (i32.const 1)))
                        (br $yyloop)))
                    (local.set $f (i32.add (local.get $f) (i32.const 1)))
                    (br $floop)))))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $xloop)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $yloop)))
    (i32.shr_u (i32.sub (local.get $o) (local.get $out)) (i32.const 2))))
