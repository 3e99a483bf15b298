//! The few proxy-wasm host calls the filter makes on request data, declared directly so that an
//! unexpected status or a non-UTF-8 header becomes `None`/`false` instead of the SDK's panic
//! (a panic would take down the VM for every request on that worker). wasm32 only.

use std::ptr::null_mut;

const OK: u32 = 0;

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_get_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
    ) -> u32;
    fn proxy_get_header_map_pairs(
        map_type: u32,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> u32;
    fn proxy_replace_header_map_value(
        map_type: u32,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_remove_header_map_value(map_type: u32, key_data: *const u8, key_size: usize) -> u32;
    fn proxy_get_buffer_bytes(
        buffer_type: u32,
        start: usize,
        max_size: usize,
        return_buffer_data: *mut *mut u8,
        return_buffer_size: *mut usize,
    ) -> u32;
    fn proxy_set_buffer_bytes(
        buffer_type: u32,
        start: usize,
        size: usize,
        buffer_data: *const u8,
        buffer_size: usize,
    ) -> u32;
    fn proxy_get_property(
        path_data: *const u8,
        path_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
    ) -> u32;
    fn proxy_set_property(
        path_data: *const u8,
        path_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> u32;
    fn proxy_get_shared_data(
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
        return_cas: *mut u32,
    ) -> u32;
    fn proxy_set_shared_data(
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
        cas: u32,
    ) -> u32;
}

/// Take ownership of bytes the host allocated through the module's allocator.
///
/// # Safety
/// `data`/`size` must come from a host call that just returned them (or be null).
unsafe fn owned(data: *mut u8, size: usize) -> Vec<u8> {
    if data.is_null() {
        Vec::new()
    } else {
        // SAFETY: the host allocated `size` bytes with `proxy_on_memory_allocate`, i.e. a Vec
        // of exactly that capacity, and hands them over.
        unsafe { Vec::from_raw_parts(data, size, size) }
    }
}

/// A header's raw value; `None` when absent or not readable in this phase.
pub fn header(map_type: u32, name: &str) -> Option<Vec<u8>> {
    let (mut data, mut size) = (null_mut(), 0);
    // SAFETY: pointers to live locals and a live &str; the returned buffer is owned below.
    let status = unsafe {
        proxy_get_header_map_value(map_type, name.as_ptr(), name.len(), &mut data, &mut size)
    };
    // SAFETY: returned by the call above.
    let value = unsafe { owned(data, size) };
    (status == OK).then_some(value)
}

/// A whole header map, serialised (see [`crate::host::decode_header_map`]).
pub fn header_map(map_type: u32) -> Option<Vec<u8>> {
    let (mut data, mut size) = (null_mut(), 0);
    // SAFETY: pointers to live locals; the returned buffer is owned below.
    let status = unsafe { proxy_get_header_map_pairs(map_type, &mut data, &mut size) };
    // SAFETY: returned by the call above.
    let value = unsafe { owned(data, size) };
    (status == OK).then_some(value)
}

/// Replace (`Some`) or remove (`None`) a header; false when the host refused.
pub fn set_header(map_type: u32, name: &str, value: Option<&str>) -> bool {
    // SAFETY: pointers to live &str for the duration of the call.
    let status = unsafe {
        match value {
            Some(v) => proxy_replace_header_map_value(
                map_type,
                name.as_ptr(),
                name.len(),
                v.as_ptr(),
                v.len(),
            ),
            None => proxy_remove_header_map_value(map_type, name.as_ptr(), name.len()),
        }
    };
    status == OK
}

/// `len` bytes of a buffer from `start`.
pub fn buffer(buffer_type: u32, start: usize, len: usize) -> Option<Vec<u8>> {
    let (mut data, mut size) = (null_mut(), 0);
    // SAFETY: pointers to live locals; the returned buffer is owned below.
    let status = unsafe { proxy_get_buffer_bytes(buffer_type, start, len, &mut data, &mut size) };
    // SAFETY: returned by the call above.
    let value = unsafe { owned(data, size) };
    (status == OK).then_some(value)
}

/// Replace `size` bytes of a buffer from `start` with `data`.
pub fn set_buffer(buffer_type: u32, start: usize, size: usize, data: &[u8]) -> bool {
    // SAFETY: pointer to a live slice for the duration of the call.
    let status =
        unsafe { proxy_set_buffer_bytes(buffer_type, start, size, data.as_ptr(), data.len()) };
    status == OK
}

/// A property by path segments (joined with NUL as the ABI wants).
pub fn property(path: &[&str]) -> Option<Vec<u8>> {
    let serialized = path.join("\0");
    let (mut data, mut size) = (null_mut(), 0);
    // SAFETY: pointers to live locals; the returned buffer is owned below.
    let status =
        unsafe { proxy_get_property(serialized.as_ptr(), serialized.len(), &mut data, &mut size) };
    // SAFETY: returned by the call above.
    let value = unsafe { owned(data, size) };
    (status == OK).then_some(value)
}

/// Set a one-segment property of the current stream; false when the host refused.
pub fn set_property(name: &str, value: &[u8]) -> bool {
    // SAFETY: pointers to live slices for the duration of the call.
    let status =
        unsafe { proxy_set_property(name.as_ptr(), name.len(), value.as_ptr(), value.len()) };
    status == OK
}

/// A shared-data entry and its compare-and-swap token (an empty value is still an entry).
pub fn shared_get(key: &str) -> Option<(Vec<u8>, u32)> {
    let (mut data, mut size, mut cas) = (null_mut(), 0, 0);
    // SAFETY: pointers to live locals; the returned buffer is owned below.
    let status =
        unsafe { proxy_get_shared_data(key.as_ptr(), key.len(), &mut data, &mut size, &mut cas) };
    // SAFETY: returned by the call above.
    let value = unsafe { owned(data, size) };
    (status == OK).then_some((value, cas))
}

/// Write a shared-data entry if its token is still `cas` (0: unconditionally).
pub fn shared_set(key: &str, value: &[u8], cas: u32) -> bool {
    // SAFETY: pointers to live slices for the duration of the call.
    let status =
        unsafe { proxy_set_shared_data(key.as_ptr(), key.len(), value.as_ptr(), value.len(), cas) };
    status == OK
}
