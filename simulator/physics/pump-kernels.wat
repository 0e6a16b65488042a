;; The pump model's hottest loops as WebAssembly SIMD (two float64 lanes), embedded in
;; simulator/physics/pump.ts as KERNELS_WASM. V8 does not vectorise JavaScript, and the lines' rotations
;; are bound by floating-point throughput. (The simulator's own code, run by Node: the firmware,
;; which must run on interpreters without SIMD, has none.)
;;   lines(window, count): count > 0 samples; f64[window] += the six lines' sines summed left to
;;     right, then each line's phasor (c, s) turns by its step (k, q). k, q, c and s of lines
;;     0..5 stand in pairs at bytes 0..191.
;;   ring(target, source, count, gain): f64[target + i] += gain * f64[source + i].
;;   adc(source, target, count, scale, step, levels): the accelerometer's converter, two samples
;;     at a time: f32[target + i] = demote(min(max(nearest(f64[source + i] * scale), -levels),
;;     levels - 1) * step), rounding ties to even (pmin and pmax: no NaN reaches them).
;; Rebuild: node_modules/.bin/wasm-as --enable-simd simulator/physics/pump-kernels.wat -o - | base64 -w0
;; (test/simulator/pump.test.ts checks that this text assembles to the embedded bytes.)
(module
 (type $lines_t (func (param i32 i32)))
 (type $ring_t (func (param i32 i32 i32 f64)))
 (type $adc_t (func (param i32 i32 i32 f64 f64 f64)))
 (memory $memory 1)
 (export "memory" (memory $memory))
 (export "lines" (func $lines))
 (export "ring" (func $ring))
 (export "adc" (func $adc))
 (func $lines (param $window i32) (param $count i32)
  (local $k01 v128)
  (local $k23 v128)
  (local $k4_ v128)
  (local $q01 v128)
  (local $q23 v128)
  (local $q4_ v128)
  (local $c01 v128)
  (local $c23 v128)
  (local $c4_ v128)
  (local $s01 v128)
  (local $s23 v128)
  (local $s4_ v128)
  (local $next v128)
  (local.set $k01
   (v128.load
    (i32.const 0)
   )
  )
  (local.set $k23
   (v128.load offset=16
    (i32.const 0)
   )
  )
  (local.set $k4_
   (v128.load offset=32
    (i32.const 0)
   )
  )
  (local.set $q01
   (v128.load offset=48
    (i32.const 0)
   )
  )
  (local.set $q23
   (v128.load offset=64
    (i32.const 0)
   )
  )
  (local.set $q4_
   (v128.load offset=80
    (i32.const 0)
   )
  )
  (local.set $c01
   (v128.load offset=96
    (i32.const 0)
   )
  )
  (local.set $c23
   (v128.load offset=112
    (i32.const 0)
   )
  )
  (local.set $c4_
   (v128.load offset=128
    (i32.const 0)
   )
  )
  (local.set $s01
   (v128.load offset=144
    (i32.const 0)
   )
  )
  (local.set $s23
   (v128.load offset=160
    (i32.const 0)
   )
  )
  (local.set $s4_
   (v128.load offset=176
    (i32.const 0)
   )
  )
  (loop $label
   (f64.store
    (local.get $window)
    (f64.add
     (f64.load
      (local.get $window)
     )
     (f64.add
      (f64.add
       (f64.add
        (f64.add
         (f64.add
          (f64x2.extract_lane 0
           (local.get $s01)
          )
          (f64x2.extract_lane 1
           (local.get $s01)
          )
         )
         (f64x2.extract_lane 0
          (local.get $s23)
         )
        )
        (f64x2.extract_lane 1
         (local.get $s23)
        )
       )
       (f64x2.extract_lane 0
        (local.get $s4_)
       )
      )
      (f64x2.extract_lane 1
       (local.get $s4_)
      )
     )
    )
   )
   (local.set $next
    (f64x2.sub
     (f64x2.mul
      (local.get $c01)
      (local.get $k01)
     )
     (f64x2.mul
      (local.get $s01)
      (local.get $q01)
     )
    )
   )
   (local.set $s01
    (f64x2.add
     (f64x2.mul
      (local.get $s01)
      (local.get $k01)
     )
     (f64x2.mul
      (local.get $c01)
      (local.get $q01)
     )
    )
   )
   (local.set $c01
    (local.get $next)
   )
   (local.set $next
    (f64x2.sub
     (f64x2.mul
      (local.get $c23)
      (local.get $k23)
     )
     (f64x2.mul
      (local.get $s23)
      (local.get $q23)
     )
    )
   )
   (local.set $s23
    (f64x2.add
     (f64x2.mul
      (local.get $s23)
      (local.get $k23)
     )
     (f64x2.mul
      (local.get $c23)
      (local.get $q23)
     )
    )
   )
   (local.set $c23
    (local.get $next)
   )
   (local.set $next
    (f64x2.sub
     (f64x2.mul
      (local.get $c4_)
      (local.get $k4_)
     )
     (f64x2.mul
      (local.get $s4_)
      (local.get $q4_)
     )
    )
   )
   (local.set $s4_
    (f64x2.add
     (f64x2.mul
      (local.get $s4_)
      (local.get $k4_)
     )
     (f64x2.mul
      (local.get $c4_)
      (local.get $q4_)
     )
    )
   )
   (local.set $c4_
    (local.get $next)
   )
   (local.set $window
    (i32.add
     (local.get $window)
     (i32.const 8)
    )
   )
   (br_if $label
    (local.tee $count
     (i32.sub
      (local.get $count)
      (i32.const 1)
     )
    )
   )
  )
 )
 (func $ring (param $target i32) (param $source i32) (param $count i32) (param $gain f64)
  (local $gains v128)
  (local.set $gains
   (f64x2.splat
    (local.get $gain)
   )
  )
  (block $block
   (loop $label
    (br_if $block
     (i32.lt_u
      (local.get $count)
      (i32.const 2)
     )
    )
    (v128.store
     (local.get $target)
     (f64x2.add
      (v128.load
       (local.get $target)
      )
      (f64x2.mul
       (local.get $gains)
       (v128.load
        (local.get $source)
       )
      )
     )
    )
    (local.set $target
     (i32.add
      (local.get $target)
      (i32.const 16)
     )
    )
    (local.set $source
     (i32.add
      (local.get $source)
      (i32.const 16)
     )
    )
    (local.set $count
     (i32.sub
      (local.get $count)
      (i32.const 2)
     )
    )
    (br $label)
   )
   (unreachable)
  )
  (if
   (local.get $count)
   (then
    (f64.store
     (local.get $target)
     (f64.add
      (f64.load
       (local.get $target)
      )
      (f64.mul
       (local.get $gain)
       (f64.load
        (local.get $source)
       )
      )
     )
    )
   )
  )
 )
 (func $adc (param $source i32) (param $target i32) (param $count i32) (param $scale f64) (param $step f64) (param $levels f64)
  (local $scales v128)
  (local $steps v128)
  (local $lowest v128)
  (local $highest v128)
  (local.set $scales
   (f64x2.splat
    (local.get $scale)
   )
  )
  (local.set $steps
   (f64x2.splat
    (local.get $step)
   )
  )
  (local.set $lowest
   (f64x2.splat
    (f64.neg
     (local.get $levels)
    )
   )
  )
  (local.set $highest
   (f64x2.splat
    (f64.sub
     (local.get $levels)
     (f64.const 1)
    )
   )
  )
  (block $block
   (loop $label
    (br_if $block
     (i32.lt_u
      (local.get $count)
      (i32.const 2)
     )
    )
    (v128.store64_lane 0
     (local.get $target)
     (f32x4.demote_f64x2_zero
      (f64x2.mul
       (f64x2.pmin
        (f64x2.pmax
         (f64x2.nearest
          (f64x2.mul
           (v128.load
            (local.get $source)
           )
           (local.get $scales)
          )
         )
         (local.get $lowest)
        )
        (local.get $highest)
       )
       (local.get $steps)
      )
     )
    )
    (local.set $source
     (i32.add
      (local.get $source)
      (i32.const 16)
     )
    )
    (local.set $target
     (i32.add
      (local.get $target)
      (i32.const 8)
     )
    )
    (local.set $count
     (i32.sub
      (local.get $count)
      (i32.const 2)
     )
    )
    (br $label)
   )
   (unreachable)
  )
  (if
   (local.get $count)
   (then
    (f32.store
     (local.get $target)
     (f32.demote_f64
      (f64.mul
       (f64x2.extract_lane 0
        (f64x2.pmin
         (f64x2.pmax
          (f64x2.nearest
           (f64x2.mul
            (f64x2.splat
             (f64.load
              (local.get $source)
             )
            )
            (local.get $scales)
           )
          )
          (local.get $lowest)
         )
         (local.get $highest)
        )
       )
       (local.get $step)
      )
     )
    )
   )
  )
 )
)
