;; Block matching of the pixel-level read (pixelMatch.ts) with WebAssembly SIMD: the search that
;; JavaScript runs one byte at a time. Assembled by `npm run build:wasm` into blockMatchWasm.ts; a
;; unit test checks that the committed bytes are this source's.
;;
;; integral(img, W, H, ii): ii[(y)(W+1) + x] = sum of the W × H bytes at img above and left of
;;   (x, y), i32, (W + 1) × (H + 1) entries.
;; search(now, prev, ii, W, H, bs, R, prior, out, costs): for every bs × bs block (bs = 4 or 8) in raster
;;   order, with its prior (py, px) at prior (two i32 per block) clamped so the block lies inside
;;   the image: the offset (dy, dx) within ±R of the prior, block inside the image, minimising
;;     cost = 100 · Σ |now(x) − prev(x + d) − shift| + bs² · (|dy − py| + |dx − px|)
;;   with shift = floor((Σ now − Σ prev(block + d) + bs²/2) / bs²) (the means' difference, rounded;
;;   Σ prev from the integral image ii of prev). Ties: the first in raster order of the window.
;;   Writes (dy, dx) as two i32 per block at out, and the cost there as one i32 per block at costs.
;; tileSads(now, prev, W, x0, y0, s, q, ey, ex, tmp, out): for the s × s block at (x0, y0) and the
;;   offset (ey, ex), each pixel's Σ over its (2q+1)² patch of |now − prev at +(ey, ex)|, as u16 at
;;   out + 16·py + 2·px (rows of 8 lanes; s ≤ 8, q ≤ 4). The caller makes sure the patches of the
;;   block and of the shifted block lie inside the image; 16-byte row loads may read up to 16 bytes
;;   past a row. tmp: (s + 2q) · 16 bytes of scratch.
;; boxMean(src, W, H, q, rows, cols, out): out (f32) = mean of the W × H bytes at src over the
;;   (2q+1)² window around each pixel, clamped to the image; rows (W × H u16) and cols (W u16,
;;   W a multiple of 8) are scratch.
(module
  (memory (export "memory") 1)

  (func (export "integral") (param $img i32) (param $W i32) (param $H i32) (param $ii i32)
    (local $W1 i32) (local $x i32) (local $y i32) (local $row i32) (local $o i32)
    (local.set $W1 (i32.add (local.get $W) (i32.const 1)))
    (local.set $x (i32.const 0))
    (block $zend (loop $zloop
      (br_if $zend (i32.gt_s (local.get $x) (local.get $W)))
      (i32.store (i32.add (local.get $ii) (i32.shl (local.get $x) (i32.const 2))) (i32.const 0))
      (local.set $x (i32.add (local.get $x) (i32.const 1)))
      (br $zloop)))
    (local.set $y (i32.const 0))
    (block $yend (loop $yloop
      (br_if $yend (i32.ge_s (local.get $y) (local.get $H)))
      ;; o = byte offset of ii[(y + 1)(W + 1)]
      (local.set $o (i32.add (local.get $ii)
        (i32.shl (i32.mul (i32.add (local.get $y) (i32.const 1)) (local.get $W1)) (i32.const 2))))
      (i32.store (local.get $o) (i32.const 0))
      (local.set $row (i32.const 0))
      (local.set $x (i32.const 0))
      (block $xend (loop $xloop
        (br_if $xend (i32.ge_s (local.get $x) (local.get $W)))
        (local.set $row (i32.add (local.get $row)
          (i32.load8_u (i32.add (local.get $img) (i32.add (i32.mul (local.get $y) (local.get $W)) (local.get $x))))))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (i32.store (local.get $o)
          (i32.add (i32.load (i32.sub (local.get $o) (i32.shl (local.get $W1) (i32.const 2)))) (local.get $row)))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $xloop)))
      (local.set $y (i32.add (local.get $y) (i32.const 1)))
      (br $yloop))))

  (func (export "search")
    (param $now i32) (param $prev i32) (param $ii i32) (param $W i32) (param $H i32)
    (param $bs i32) (param $R i32) (param $prior i32) (param $out i32) (param $costs i32)
    (local $W1 i32) (local $area i32) (local $bx i32) (local $by i32) (local $x0 i32) (local $y0 i32)
    (local $py i32) (local $px i32) (local $dyLo i32) (local $dyHi i32) (local $dxLo i32) (local $dxHi i32)
    (local $dy i32) (local $dx i32) (local $sa i32) (local $sb i32) (local $num i32) (local $shift i32)
    (local $r i32) (local $best i32) (local $cost i32) (local $bdy i32) (local $bdx i32) (local $t i32)
    (local $pa i32) (local $pb i32) (local $q i32) (local $acc v128) (local $mask v128) (local $sh v128)
    (local.set $W1 (i32.add (local.get $W) (i32.const 1)))
    (local.set $area (i32.mul (local.get $bs) (local.get $bs)))
    (local.set $mask (if (result v128) (i32.eq (local.get $bs) (i32.const 8))
      (then (v128.const i16x8 -1 -1 -1 -1 -1 -1 -1 -1))
      (else (v128.const i16x8 -1 -1 -1 -1 0 0 0 0))))
    (local.set $by (i32.const 0))
    (block $byend (loop $byloop
      (br_if $byend (i32.gt_s (i32.mul (i32.add (local.get $by) (i32.const 1)) (local.get $bs)) (local.get $H)))
      (local.set $y0 (i32.mul (local.get $by) (local.get $bs)))
      (local.set $bx (i32.const 0))
      (block $bxend (loop $bxloop
        (br_if $bxend (i32.gt_s (i32.mul (i32.add (local.get $bx) (i32.const 1)) (local.get $bs)) (local.get $W)))
        (local.set $x0 (i32.mul (local.get $bx) (local.get $bs)))
        ;; Σ now over the block
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $r (i32.const 0))
        (block $send (loop $sloop
          (br_if $send (i32.ge_s (local.get $r) (local.get $bs)))
          (local.set $acc (i16x8.add (local.get $acc) (v128.and (local.get $mask)
            (i16x8.extend_low_i8x16_u (v128.load64_zero (i32.add (local.get $now)
              (i32.add (i32.mul (i32.add (local.get $y0) (local.get $r)) (local.get $W)) (local.get $x0))))))))
          (local.set $r (i32.add (local.get $r) (i32.const 1)))
          (br $sloop)))
        (local.set $acc (i32x4.extadd_pairwise_i16x8_u (local.get $acc)))
        (local.set $sa (i32.add
          (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
          (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
        ;; the prior, clamped so the block lies inside the image
        (local.set $t (i32.add (local.get $prior)
          (i32.shl (i32.add (i32.mul (local.get $by) (i32.div_s (local.get $W) (local.get $bs))) (local.get $bx)) (i32.const 3))))
        (local.set $py (i32.load (local.get $t)))
        (local.set $px (i32.load offset=4 (local.get $t)))
        (local.set $q (i32.sub (i32.sub (local.get $H) (local.get $bs)) (local.get $y0)))
        (local.set $py (select (local.get $q) (local.get $py) (i32.gt_s (local.get $py) (local.get $q))))
        (local.set $q (i32.sub (i32.const 0) (local.get $y0)))
        (local.set $py (select (local.get $q) (local.get $py) (i32.lt_s (local.get $py) (local.get $q))))
        (local.set $q (i32.sub (i32.sub (local.get $W) (local.get $bs)) (local.get $x0)))
        (local.set $px (select (local.get $q) (local.get $px) (i32.gt_s (local.get $px) (local.get $q))))
        (local.set $q (i32.sub (i32.const 0) (local.get $x0)))
        (local.set $px (select (local.get $q) (local.get $px) (i32.lt_s (local.get $px) (local.get $q))))
        ;; window, inside the image
        (local.set $dyLo (i32.sub (local.get $py) (local.get $R)))
        (local.set $q (i32.sub (i32.const 0) (local.get $y0)))
        (local.set $dyLo (select (local.get $q) (local.get $dyLo) (i32.lt_s (local.get $dyLo) (local.get $q))))
        (local.set $dyHi (i32.add (local.get $py) (local.get $R)))
        (local.set $q (i32.sub (i32.sub (local.get $H) (local.get $bs)) (local.get $y0)))
        (local.set $dyHi (select (local.get $q) (local.get $dyHi) (i32.gt_s (local.get $dyHi) (local.get $q))))
        (local.set $dxLo (i32.sub (local.get $px) (local.get $R)))
        (local.set $q (i32.sub (i32.const 0) (local.get $x0)))
        (local.set $dxLo (select (local.get $q) (local.get $dxLo) (i32.lt_s (local.get $dxLo) (local.get $q))))
        (local.set $dxHi (i32.add (local.get $px) (local.get $R)))
        (local.set $q (i32.sub (i32.sub (local.get $W) (local.get $bs)) (local.get $x0)))
        (local.set $dxHi (select (local.get $q) (local.get $dxHi) (i32.gt_s (local.get $dxHi) (local.get $q))))
        (local.set $best (i32.const 0x7fffffff))
        (local.set $bdy (local.get $py))
        (local.set $bdx (local.get $px))
        (local.set $dy (local.get $dyLo))
        (block $dyend (loop $dyloop
          (br_if $dyend (i32.gt_s (local.get $dy) (local.get $dyHi)))
          (local.set $dx (local.get $dxLo))
          (block $dxend (loop $dxloop
            (br_if $dxend (i32.gt_s (local.get $dx) (local.get $dxHi)))
            ;; Σ prev over the shifted block, from the integral image
            (local.set $t (i32.add (local.get $ii) (i32.shl
              (i32.add (i32.mul (i32.add (local.get $y0) (local.get $dy)) (local.get $W1)) (i32.add (local.get $x0) (local.get $dx)))
              (i32.const 2))))
            (local.set $q (i32.shl (i32.mul (local.get $bs) (local.get $W1)) (i32.const 2)))
            (local.set $sb (i32.add
              (i32.sub (i32.load (i32.add (i32.add (local.get $t) (local.get $q)) (i32.shl (local.get $bs) (i32.const 2))))
                       (i32.load (i32.add (local.get $t) (local.get $q))))
              (i32.sub (i32.load (local.get $t))
                       (i32.load (i32.add (local.get $t) (i32.shl (local.get $bs) (i32.const 2)))))))
            ;; shift = floor((sa − sb + area/2) / area)
            (local.set $num (i32.add (i32.sub (local.get $sa) (local.get $sb)) (i32.shr_s (local.get $area) (i32.const 1))))
            (local.set $shift (if (result i32) (i32.ge_s (local.get $num) (i32.const 0))
              (then (i32.div_s (local.get $num) (local.get $area)))
              (else (i32.sub (i32.const 0)
                (i32.div_s (i32.sub (i32.add (i32.sub (i32.const 0) (local.get $num)) (local.get $area)) (i32.const 1)) (local.get $area))))))
            (local.set $sh (i16x8.splat (local.get $shift)))
            (local.set $acc (v128.const i32x4 0 0 0 0))
            (local.set $pa (i32.add (local.get $now) (i32.add (i32.mul (local.get $y0) (local.get $W)) (local.get $x0))))
            (local.set $pb (i32.add (local.get $prev) (i32.add (i32.mul (i32.add (local.get $y0) (local.get $dy)) (local.get $W)) (i32.add (local.get $x0) (local.get $dx)))))
            (local.set $r (i32.const 0))
            (block $rend (loop $rloop
              (br_if $rend (i32.ge_s (local.get $r) (local.get $bs)))
              (local.set $acc (i16x8.add (local.get $acc) (v128.and (local.get $mask) (i16x8.abs
                (i16x8.sub (i16x8.sub
                  (i16x8.extend_low_i8x16_u (v128.load64_zero (local.get $pa)))
                  (i16x8.extend_low_i8x16_u (v128.load64_zero (local.get $pb))))
                  (local.get $sh))))))
              (local.set $pa (i32.add (local.get $pa) (local.get $W)))
              (local.set $pb (i32.add (local.get $pb) (local.get $W)))
              (local.set $r (i32.add (local.get $r) (i32.const 1)))
              (br $rloop)))
            (local.set $acc (i32x4.extadd_pairwise_i16x8_u (local.get $acc)))
            (local.set $cost (i32.add
              (i32.mul (i32.const 100) (i32.add
                (i32.add (i32x4.extract_lane 0 (local.get $acc)) (i32x4.extract_lane 1 (local.get $acc)))
                (i32.add (i32x4.extract_lane 2 (local.get $acc)) (i32x4.extract_lane 3 (local.get $acc)))))
              (i32.mul (local.get $area) (i32.add
                (select (i32.sub (local.get $dy) (local.get $py)) (i32.sub (local.get $py) (local.get $dy)) (i32.ge_s (local.get $dy) (local.get $py)))
                (select (i32.sub (local.get $dx) (local.get $px)) (i32.sub (local.get $px) (local.get $dx)) (i32.ge_s (local.get $dx) (local.get $px)))))))
            (if (i32.lt_s (local.get $cost) (local.get $best)) (then
              (local.set $best (local.get $cost))
              (local.set $bdy (local.get $dy))
              (local.set $bdx (local.get $dx))))
            (local.set $dx (i32.add (local.get $dx) (i32.const 1)))
            (br $dxloop)))
          (local.set $dy (i32.add (local.get $dy) (i32.const 1)))
          (br $dyloop)))
        (local.set $t (i32.add (local.get $out)
          (i32.shl (i32.add (i32.mul (local.get $by) (i32.div_s (local.get $W) (local.get $bs))) (local.get $bx)) (i32.const 3))))
        (i32.store (local.get $t) (local.get $bdy))
        (i32.store offset=4 (local.get $t) (local.get $bdx))
        (i32.store (i32.add (local.get $costs)
          (i32.shl (i32.add (i32.mul (local.get $by) (i32.div_s (local.get $W) (local.get $bs))) (local.get $bx)) (i32.const 2)))
          (local.get $best))
        (local.set $bx (i32.add (local.get $bx) (i32.const 1)))
        (br $bxloop)))
      (local.set $by (i32.add (local.get $by) (i32.const 1)))
      (br $byloop))))

  (func (export "tileSads")
    (param $now i32) (param $prev i32) (param $W i32) (param $x0 i32) (param $y0 i32) (param $s i32)
    (param $q i32) (param $ey i32) (param $ex i32) (param $tmp i32) (param $out i32)
    (local $t i32) (local $ty i32) (local $u i32) (local $pa i32) (local $pb i32) (local $n i32)
    (local $va v128) (local $vb v128) (local $ad v128) (local $acc v128) (local $base v128)
    (local.set $t (i32.add (local.get $s) (i32.shl (local.get $q) (i32.const 1))))
    (local.set $n (i32.shl (local.get $q) (i32.const 1)))
    (local.set $base (v128.const i8x16 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15))
    (local.set $pa (i32.add (local.get $now) (i32.add
      (i32.mul (i32.sub (local.get $y0) (local.get $q)) (local.get $W)) (i32.sub (local.get $x0) (local.get $q)))))
    (local.set $pb (i32.add (local.get $prev) (i32.add
      (i32.mul (i32.add (i32.sub (local.get $y0) (local.get $q)) (local.get $ey)) (local.get $W))
      (i32.add (i32.sub (local.get $x0) (local.get $q)) (local.get $ex)))))
    (local.set $ty (i32.const 0))
    (block $tend (loop $tloop
      (br_if $tend (i32.ge_s (local.get $ty) (local.get $t)))
      (local.set $va (v128.load (local.get $pa)))
      (local.set $vb (v128.load (local.get $pb)))
      (local.set $ad (v128.or (i8x16.sub_sat_u (local.get $va) (local.get $vb)) (i8x16.sub_sat_u (local.get $vb) (local.get $va))))
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $u (i32.const 0))
      (block $uend (loop $uloop
        (br_if $uend (i32.gt_s (local.get $u) (local.get $n)))
        (local.set $acc (i16x8.add (local.get $acc) (i16x8.extend_low_i8x16_u
          (i8x16.swizzle (local.get $ad) (i8x16.add (local.get $base) (i8x16.splat (local.get $u)))))))
        (local.set $u (i32.add (local.get $u) (i32.const 1)))
        (br $uloop)))
      (v128.store (i32.add (local.get $tmp) (i32.shl (local.get $ty) (i32.const 4))) (local.get $acc))
      (local.set $pa (i32.add (local.get $pa) (local.get $W)))
      (local.set $pb (i32.add (local.get $pb) (local.get $W)))
      (local.set $ty (i32.add (local.get $ty) (i32.const 1)))
      (br $tloop)))
    (local.set $ty (i32.const 0))
    (block $pend (loop $ploop
      (br_if $pend (i32.ge_s (local.get $ty) (local.get $s)))
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $u (i32.const 0))
      (block $vend (loop $vloop
        (br_if $vend (i32.gt_s (local.get $u) (local.get $n)))
        (local.set $acc (i16x8.add (local.get $acc)
          (v128.load (i32.add (local.get $tmp) (i32.shl (i32.add (local.get $ty) (local.get $u)) (i32.const 4))))))
        (local.set $u (i32.add (local.get $u) (i32.const 1)))
        (br $vloop)))
      (v128.store (i32.add (local.get $out) (i32.shl (local.get $ty) (i32.const 4))) (local.get $acc))
      (local.set $ty (i32.add (local.get $ty) (i32.const 1)))
      (br $ploop))))

  (func (export "boxMean")
    (param $src i32) (param $W i32) (param $H i32) (param $q i32) (param $rows i32) (param $cols i32) (param $out i32)
    (local $x i32) (local $y i32) (local $o i32) (local $sum i32) (local $lo i32) (local $hi i32)
    (local $ny i32) (local $nx i32) (local $add i32) (local $sub i32) (local $c v128) (local $inv v128) (local $p i32)
    ;; row sums, clamped: rows[y][x] = Σ src[y][max(0, x − q) .. min(W − 1, x + q)]
    (local.set $y (i32.const 0))
    (block $yend (loop $yloop
      (br_if $yend (i32.ge_s (local.get $y) (local.get $H)))
      (local.set $o (i32.mul (local.get $y) (local.get $W)))
      (local.set $sum (i32.const 0))
      (local.set $x (i32.const 0))
      (block $iend (loop $iloop
        (br_if $iend (i32.or (i32.gt_s (local.get $x) (local.get $q)) (i32.ge_s (local.get $x) (local.get $W))))
        (local.set $sum (i32.add (local.get $sum) (i32.load8_u (i32.add (local.get $src) (i32.add (local.get $o) (local.get $x))))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $iloop)))
      (local.set $x (i32.const 0))
      (block $xend (loop $xloop
        (br_if $xend (i32.ge_s (local.get $x) (local.get $W)))
        (i32.store16 (i32.add (local.get $rows) (i32.shl (i32.add (local.get $o) (local.get $x)) (i32.const 1))) (local.get $sum))
        (if (i32.lt_s (i32.add (i32.add (local.get $x) (local.get $q)) (i32.const 1)) (local.get $W)) (then
          (local.set $sum (i32.add (local.get $sum) (i32.load8_u (i32.add (local.get $src)
            (i32.add (local.get $o) (i32.add (i32.add (local.get $x) (local.get $q)) (i32.const 1)))))))))
        (if (i32.ge_s (i32.sub (local.get $x) (local.get $q)) (i32.const 0)) (then
          (local.set $sum (i32.sub (local.get $sum) (i32.load8_u (i32.add (local.get $src)
            (i32.add (local.get $o) (i32.sub (local.get $x) (local.get $q)))))))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $xloop)))
      (local.set $y (i32.add (local.get $y) (i32.const 1)))
      (br $yloop)))
    ;; column sums: cols = Σ rows[0 .. q]
    (local.set $x (i32.const 0))
    (block $zend (loop $zloop
      (br_if $zend (i32.ge_s (local.get $x) (local.get $W)))
      (v128.store (i32.add (local.get $cols) (i32.shl (local.get $x) (i32.const 1))) (v128.const i32x4 0 0 0 0))
      (local.set $x (i32.add (local.get $x) (i32.const 8)))
      (br $zloop)))
    (local.set $y (i32.const 0))
    (block $cend (loop $cloop
      (br_if $cend (i32.or (i32.gt_s (local.get $y) (local.get $q)) (i32.ge_s (local.get $y) (local.get $H))))
      (local.set $x (i32.const 0))
      (block $c2end (loop $c2loop
        (br_if $c2end (i32.ge_s (local.get $x) (local.get $W)))
        (local.set $p (i32.add (local.get $cols) (i32.shl (local.get $x) (i32.const 1))))
        (v128.store (local.get $p) (i16x8.add (v128.load (local.get $p))
          (v128.load (i32.add (local.get $rows) (i32.shl (i32.add (i32.mul (local.get $y) (local.get $W)) (local.get $x)) (i32.const 1))))))
        (local.set $x (i32.add (local.get $x) (i32.const 8)))
        (br $c2loop)))
      (local.set $y (i32.add (local.get $y) (i32.const 1)))
      (br $cloop)))
    (local.set $y (i32.const 0))
    (block $rend (loop $rloop
      (br_if $rend (i32.ge_s (local.get $y) (local.get $H)))
      (local.set $lo (select (i32.sub (local.get $y) (local.get $q)) (i32.const 0) (i32.gt_s (i32.sub (local.get $y) (local.get $q)) (i32.const 0))))
      (local.set $hi (select (i32.add (local.get $y) (local.get $q)) (i32.sub (local.get $H) (i32.const 1))
        (i32.lt_s (i32.add (local.get $y) (local.get $q)) (i32.sub (local.get $H) (i32.const 1)))))
      (local.set $ny (i32.add (i32.sub (local.get $hi) (local.get $lo)) (i32.const 1)))
      (local.set $o (i32.mul (local.get $y) (local.get $W)))
      ;; interior columns: one reciprocal for the whole row
      (local.set $inv (f32x4.splat (f32.div (f32.const 1)
        (f32.convert_i32_s (i32.mul (local.get $ny) (i32.add (i32.shl (local.get $q) (i32.const 1)) (i32.const 1)))))))
      (local.set $x (i32.const 0))
      (block $wend (loop $wloop
        (br_if $wend (i32.ge_s (local.get $x) (local.get $W)))
        (local.set $c (v128.load (i32.add (local.get $cols) (i32.shl (local.get $x) (i32.const 1)))))
        (local.set $p (i32.add (local.get $out) (i32.shl (i32.add (local.get $o) (local.get $x)) (i32.const 2))))
        (v128.store (local.get $p) (f32x4.mul (local.get $inv) (f32x4.convert_i32x4_u (i32x4.extend_low_i16x8_u (local.get $c)))))
        (v128.store offset=16 (local.get $p) (f32x4.mul (local.get $inv) (f32x4.convert_i32x4_u (i32x4.extend_high_i16x8_u (local.get $c)))))
        (local.set $x (i32.add (local.get $x) (i32.const 8)))
        (br $wloop)))
      ;; the q columns at each side: their own count
      (local.set $x (i32.const 0))
      (block $eend (loop $eloop
        (br_if $eend (i32.ge_s (local.get $x) (local.get $W)))
        (if (i32.eq (local.get $x) (local.get $q)) (then
          (local.set $x (select (i32.sub (local.get $W) (local.get $q)) (local.get $x) (i32.gt_s (i32.sub (local.get $W) (local.get $q)) (local.get $x))))))
        (br_if $eend (i32.ge_s (local.get $x) (local.get $W)))
        (local.set $lo (select (i32.sub (local.get $x) (local.get $q)) (i32.const 0) (i32.gt_s (i32.sub (local.get $x) (local.get $q)) (i32.const 0))))
        (local.set $hi (select (i32.add (local.get $x) (local.get $q)) (i32.sub (local.get $W) (i32.const 1))
          (i32.lt_s (i32.add (local.get $x) (local.get $q)) (i32.sub (local.get $W) (i32.const 1)))))
        (local.set $nx (i32.add (i32.sub (local.get $hi) (local.get $lo)) (i32.const 1)))
        (f32.store (i32.add (local.get $out) (i32.shl (i32.add (local.get $o) (local.get $x)) (i32.const 2)))
          (f32.div (f32.convert_i32_u (i32.load16_u (i32.add (local.get $cols) (i32.shl (local.get $x) (i32.const 1)))))
            (f32.convert_i32_s (i32.mul (local.get $nx) (local.get $ny)))))
        (local.set $x (i32.add (local.get $x) (i32.const 1)))
        (br $eloop)))
      ;; slide: + row y + q + 1, − row y − q
      (local.set $add (i32.add (i32.add (local.get $y) (local.get $q)) (i32.const 1)))
      (local.set $sub (i32.sub (local.get $y) (local.get $q)))
      (local.set $x (i32.const 0))
      (block $send (loop $sloop
        (br_if $send (i32.ge_s (local.get $x) (local.get $W)))
        (local.set $p (i32.add (local.get $cols) (i32.shl (local.get $x) (i32.const 1))))
        (local.set $c (v128.load (local.get $p)))
        (if (i32.lt_s (local.get $add) (local.get $H)) (then
          (local.set $c (i16x8.add (local.get $c) (v128.load (i32.add (local.get $rows)
            (i32.shl (i32.add (i32.mul (local.get $add) (local.get $W)) (local.get $x)) (i32.const 1))))))))
        (if (i32.ge_s (local.get $sub) (i32.const 0)) (then
          (local.set $c (i16x8.sub (local.get $c) (v128.load (i32.add (local.get $rows)
            (i32.shl (i32.add (i32.mul (local.get $sub) (local.get $W)) (local.get $x)) (i32.const 1))))))))
        (v128.store (local.get $p) (local.get $c))
        (local.set $x (i32.add (local.get $x) (i32.const 8)))
        (br $sloop)))
      (local.set $y (i32.add (local.get $y) (i32.const 1)))
      (br $rloop))))
)
